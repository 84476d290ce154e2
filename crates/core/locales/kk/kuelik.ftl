# kuelik хабарламалары қазақ тілінде. Идентификаторлар үш тілде бірдей.

## Мақаланың хабарламасы (R6).
psc-only = Рәсімдеу қолжетімсіз, ХҚКО-ға жүгініңіз

## Онлайн ауыстыру құқығын тексеру
eligibility-eligible = Өтінішті онлайн беруге болады
eligibility-eligible-detail = Құжат { $last_valid_day } қоса алғанда жарамды. Онлайн өтінішті { $last_eligible_date } қоса алғанға дейін беруге болады.
eligibility-too-early = Онлайн өтініш беруге әлі ерте
eligibility-too-early-detail = Құжат { $last_valid_day } қоса алғанда жарамды. Онлайн өтінішті мерзімі аяқталғанға дейін { $days_before } күннен ерте емес, { $first_eligible_date } бастап беруге болады.
eligibility-reason-not-served-detail = Онлайн тек жарамдылық мерзімі аяқталып жатқан немесе жақында аяқталған құжатты ауыстыруға болады. Тегі өзгергенде, құжат жоғалғанда, бүлінгенде және басқа себептермен ХҚКО-ға жүгініңіз.
eligibility-document-not-served-detail = Қолданыстағы қағидалар бойынша құжаттың бұл түрі онлайн рәсімделмейді.
eligibility-expired-too-long-detail = Құжат { $last_valid_day } қоса алғанда жарамды болды. Онлайн ауыстыру жарамдылық мерзімі аяқталғаннан кейін { $days_after } күнтізбелік күннен кешіктірілмей мүмкін.
eligibility-window-after-service-end-detail = Құжатыңыз бойынша онлайн өтінішті { $first_eligible_date } бастап беруге болар еді, бірақ онлайн қызмет тек { $service_end } қоса алғанға дейін жұмыс істейді.
eligibility-service-not-active = Онлайн қызмет қазір жұмыс істемейді
eligibility-service-not-active-ended-detail = Онлайн рәсімдеу { $service_start } бастап { $service_end } дейін жұмыс істеді. ХҚКО-ға жүгініңіз.
eligibility-service-not-active-before-detail = Онлайн рәсімдеу { $service_start } бастап жұмыс істейді.

## ЖСН қателері
iin-error-wrong_length = ЖСН 12 цифрдан тұрады, ал енгізілген таңба саны: { $count }.
iin-error-not_a_digit = № { $position } таңба цифр емес.
iin-error-bad_century_digit = ЖСН-нің жетінші цифры 1-ден 6-ға дейін болуы керек, ал көрсетілгені: { $digit }.
iin-error-bad_birth_date = Алғашқы алты цифр ({ $digits }) туған күн емес.
iin-error-check_digit_mismatch = Бақылау цифры сәйкес келмейді: цифрлардың бірі қате енгізілген болуы мүмкін.
iin-error-check_digit_undefined = Мұндай ЖСН жоқ: бұл цифрлар үшін бақылау цифры анықталмайды.

## Талон нөмірінің қателері
ticket-error-wrong_length = Талон нөмірі 10 таңбадан тұрады, ал енгізілгені: { $count }.
ticket-error-bad_symbol = № { $position } таңба («{ $symbol }») талон нөмірлерінде қолданылмайды.
ticket-error-check_failed = Талон нөмірі қате енгізілді: әр таңбаны және олардың ретін тексеріңіз.

## Құжат түрлері және себептер
document-identity-card = жеке куәлік
document-passport = паспорт
reason-expiring = жарамдылық мерзімі аяқталуда
reason-name-change = тегінің, атының немесе әкесінің атының өзгеруі
reason-loss = жоғалту
reason-damage = бүліну
reason-other = басқа себеп

## Өтініш мәртебелері
state-draft = жоба
state-submitted = жіберілді
state-queued = кезекте
state-under_review = қаралуда
state-approved = мақұлданды
state-in_production = дайындалуда
state-dispatched = тіркеу пунктіне жөнелтілді
state-ready_for_pickup = алуға дайын
state-issued = табыс етілді
state-annulled = күші жойылды
state-withdrawn = кері қайтарылды

## Күшін жою себептері (R12)
annulment-photo_non_compliant = Фотосурет талаптарға сәйкес келмейді
annulment-signature_non_compliant = Қолтаңба талаптарға сәйкес келмейді
annulment-additional_verification_required = КҚБ тарапынан қосымша тексеру қажет

## Өтініштің өмірлік циклінің қателері
lifecycle-error-illegal_transition = Өтініш «{ $state }» мәртебесінде тұрғанда бұл әрекет мүмкін емес.
lifecycle-error-wrong_role = Сіздің рөліңіз бұл әрекетті орындауға мүмкіндік бермейді.
lifecycle-error-not_the_applicant = Өтініш бойынша тек құжат иесінің өзі ғана әрекет ете алады.
lifecycle-error-other_region = Өтініш басқа өңірге жатады.
lifecycle-error-not_the_reviewer = Мұны өтінішті қарауға алған қызметкер ғана жасай алады.
lifecycle-error-wrong_registration_point = Құжат басқа тіркеу пунктінде беріледі.
lifecycle-error-point_outside_region = Өз өңіріңіздегі тіркеу пунктін таңдаңыз.
lifecycle-error-application_incomplete = Әлі бәрі дайын емес: { $parts }.
task-todo-registration_point = құжатты алатын тіркеу пунктін таңдаңыз
task-todo-photo = талаптарға сай фотосуретті жүктеңіз
task-todo-signature = талаптарға сай қолтаңбаны жүктеңіз
task-todo-payment = мемлекеттік бажды төлеңіз
lifecycle-error-already_paid = Осы өтініш бойынша мемлекеттік баж төленген.
lifecycle-error-ticket_mismatch = Талон нөмірі өтінішке сәйкес келмейді.
lifecycle-error-bad_document_number = Жаңа құжаттың нөмірі форматқа сәйкес емес (жеке куәлік — 9 цифр, паспорт — N және 8 цифр).
lifecycle-error-no_refund_pending = Бұл өтініш бойынша күтілетін қайтару жоқ.
lifecycle-error-register_document_mismatch = Халықты тіркеу тізілімінде бұл өтініш ауыстыратын құжат көрсетілмеген. Құжатты беру алдында тізілім жазбасын тексеріңіз.
lifecycle-error-review_not_abandoned = Қарау әлі босату үшін жеткілікті ұзақ күткен жоқ.
lifecycle-error-not_eligible = Бүгін құжатты онлайн рәсімдеу мүмкін емес.
lifecycle-error-calendar_not_covered = Орындау мерзімін есептеу мүмкін емес: жұмыс күндері күнтізбесінде бұл жылға дерек жоқ. Әкімші оларды қосуы керек.

## Құжат берілгеннен кейінгі адамның құжаттары
document-status-valid = жарамды
document-status-replaced = жарамсыз: жаңа құжатпен ауыстырылды
document-status-reported_lost = жарамсыз: жоғалған деп мәлімделді
document-status-expired = жарамсыз: жарамдылық мерзімі өтті
document-validity-unknown = Мұндай түрдегі және нөмірдегі құжат табылмады. Құжаттың түрі мен нөмірін тексеріңіз.
old-card-surrendered = бұрынғы құжат тапсырылып, жойылды
old-card-not_presented = бұрынғы құжат көрсетілмеді
notice-handed-over = Сізге жаңа құжат ({ $kind }) № { $number } берілді. № { $old } құжат { $at } бастап жарамсыз ({ $old_card }).
