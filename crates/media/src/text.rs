//! The advice shown with each measure, in Kazakh, Russian and English: what is wrong and
//! how to fix it, or that the property is fine. Kept in Rust (not Fluent) because every
//! text is fixed and a missing one must be a compile-time gap, not a run-time lookup miss;
//! `tests::every_measure_has_advice_in_three_languages` checks coverage.

use kuelik_core::lang::Localized;

use crate::profile::Side;
use crate::verdict::Subject;

type Texts = (&'static str, &'static str, &'static str);

fn localized((kk, ru, en): Texts) -> Localized {
    Localized {
        kk: kk.to_string(),
        ru: ru.to_string(),
        en: en.to_string(),
    }
}

const FINE: Texts = (
    "Талапқа сай.",
    "Соответствует требованиям.",
    "Meets the requirement.",
);

const UNMEASURED: Texts = (
    "Бұл көрсеткішті автоматты түрде тексеру мүмкін болмады; қызметкер суретті өзі қарайды.",
    "Этот показатель не удалось проверить автоматически; сотрудник проверит изображение сам.",
    "This could not be checked automatically; an officer will look at the image.",
);

/// The advice for `name` on `side`.
pub fn advice(subject: Subject, name: &str, side: Side) -> Localized {
    let texts = match subject {
        Subject::Photo => photo(name, side),
        Subject::Signature => signature(name, side),
    };
    localized(texts.unwrap_or(match side {
        Side::Unmeasured => UNMEASURED,
        _ => FINE,
    }))
}

fn photo(name: &str, side: Side) -> Option<Texts> {
    use Side::{High, Low, Unmeasured, Within};
    Some(match (name, side) {
        ("aspect_ratio", Low) => (
            "Сурет тым жалпақ. Оны тік пішімде 3:4 (35×45 мм) пропорциясымен қиыңыз.",
            "Фото слишком широкое. Обрежьте его до вертикального формата 3:4 (35×45 мм).",
            "The photo is too wide. Crop it to portrait proportions 3:4 (35×45 mm).",
        ),
        ("aspect_ratio", High) => (
            "Сурет тым ұзын әрі тар. Оны 3:4 (35×45 мм) пропорциясымен қиыңыз.",
            "Фото слишком вытянуто по высоте. Обрежьте его до пропорций 3:4 (35×45 мм).",
            "The photo is too tall and narrow. Crop it to proportions 3:4 (35×45 mm).",
        ),
        ("colour", Low) => (
            "Сурет ақ-қара немесе түстері өңсіз. Сүзгісіз түрлі-түсті сурет жүктеңіз.",
            "Фото чёрно-белое или с блёклыми цветами. Загрузите цветное фото без фильтров.",
            "The photo is black-and-white or its colours are washed out. Upload a colour photo without filters.",
        ),
        ("colour", High) => (
            "Түстері тым қанық. Сүзгілер мен әсерлерді өшіріп, қайта түсіріңіз.",
            "Цвета слишком насыщенные. Отключите фильтры и эффекты и переснимите.",
            "The colours are oversaturated. Turn off filters and effects and take the photo again.",
        ),
        ("compression_artifacts", High) => (
            "Сурет қатты сығылған (шаршы дақтар көрінеді). Түпнұсқа суретті немесе жоғары сапамен сақталған JPEG жүктеңіз.",
            "Фото сильно сжато (видны квадратные блоки). Загрузите исходное фото или сохраните JPEG с высоким качеством.",
            "The photo is heavily compressed (square blocks are visible). Upload the original, or save the JPEG at high quality.",
        ),
        ("face_count", Low) => (
            "Суретте бет табылмады. Камераға тура қарап, бетіңізді ештеңемен жаппай суретке түсіңіз.",
            "На фото не найдено лицо. Сфотографируйтесь, глядя прямо в камеру, лицо ничем не закрыто.",
            "No face was found. Take a photo looking straight at the camera, with nothing covering your face.",
        ),
        ("face_count", High) => (
            "Суретте бірнеше бет бар. Суретте тек сіз ғана болуыңыз керек.",
            "На фото несколько лиц. На фото должны быть только вы.",
            "There is more than one face in the photo. Only you may be in the photo.",
        ),
        ("head_height_ratio", Low) => (
            "Бас кадрда тым кішкентай. Жақынырақ тұрыңыз немесе иектен төбеге дейін суреттің биіктігінің 70–80% алатындай қиыңыз.",
            "Голова в кадре слишком маленькая. Подойдите ближе или обрежьте фото так, чтобы голова от подбородка до макушки занимала 70–80% высоты.",
            "Your head is too small in the frame. Move closer, or crop so that chin to crown fills 70–80% of the photo height.",
        ),
        ("head_height_ratio", High) => (
            "Бас кадрда тым үлкен. Алысырақ тұрыңыз немесе иектен төбеге дейін суреттің биіктігінің 70–80% алатындай етіп кеңірек қиыңыз.",
            "Голова в кадре слишком большая. Отойдите дальше или обрежьте шире, чтобы голова от подбородка до макушки занимала 70–80% высоты.",
            "Your head is too large in the frame. Step back, or crop wider, so that chin to crown fills 70–80% of the photo height.",
        ),
        ("face_centre_offset", Low) => (
            "Бет суреттің сол жағына ығысқан. Бетті көлденеңінен ортаға қойыңыз.",
            "Лицо смещено к левому краю фото. Расположите лицо по центру.",
            "Your face is off-centre towards the left edge. Centre your face horizontally.",
        ),
        ("face_centre_offset", High) => (
            "Бет суреттің оң жағына ығысқан. Бетті көлденеңінен ортаға қойыңыз.",
            "Лицо смещено к правому краю фото. Расположите лицо по центру.",
            "Your face is off-centre towards the right edge. Centre your face horizontally.",
        ),
        ("margin_above", Low) => (
            "Бастың үстінде орын аз: төбеңіз кесіліп қалуы мүмкін. Бастың үстінде бос орын қалдырыңыз.",
            "Над головой слишком мало места: макушка может быть обрезана. Оставьте свободное место над головой.",
            "There is too little space above your head; the top of the head may be cut off. Leave space above the head.",
        ),
        ("margin_above", High) => (
            "Бет кадрда тым төмен. Камераны бет деңгейіне қойыңыз немесе суреттің үстін қиыңыз.",
            "Лицо слишком низко в кадре. Держите камеру на уровне лица или обрежьте фото сверху.",
            "Your face is too low in the frame. Hold the camera at face level, or crop the top of the photo.",
        ),
        ("margin_below", Low) => (
            "Иек немесе мойын кесіліп қалған. Иектің астында орын қалдырыңыз: иықтың жоғарғы жағы көрінсін.",
            "Подбородок или шея обрезаны. Оставьте место под подбородком, чтобы были видны верх плеч.",
            "Your chin or neck is cut off. Leave space below the chin so the top of the shoulders shows.",
        ),
        ("margin_below", High) => (
            "Бет кадрда тым жоғары. Камераны бет деңгейіне қойыңыз немесе суреттің астын қиыңыз.",
            "Лицо слишком высоко в кадре. Держите камеру на уровне лица или обрежьте фото снизу.",
            "Your face is too high in the frame. Hold the camera at face level, or crop the bottom of the photo.",
        ),
        ("margin_left", Low) => (
            "Бет суреттің сол жиегінде кесілген. Бетті ортаға қойып, екі жағында да орын қалдырыңыз.",
            "Лицо обрезано левым краем фото. Расположите лицо по центру, оставив место с обеих сторон.",
            "Your face is cut off by the left edge. Centre your face with space on both sides.",
        ),
        ("margin_right", Low) => (
            "Бет суреттің оң жиегінде кесілген. Бетті ортаға қойып, екі жағында да орын қалдырыңыз.",
            "Лицо обрезано правым краем фото. Расположите лицо по центру, оставив место с обеих сторон.",
            "Your face is cut off by the right edge. Centre your face with space on both sides.",
        ),
        ("inter_eye_distance", Low) => (
            "Суреттің ажыратымдылығы тым төмен: бет пиксель бойынша тым кішкентай. Түпнұсқа суретті кішірейтпей жүктеңіз.",
            "Слишком низкое разрешение: лицо слишком мало в пикселях. Загрузите исходное фото без уменьшения.",
            "The resolution is too low: the face is too small in pixels. Upload the original photo without shrinking it.",
        ),
        ("head_roll", Low | High) => (
            "Бас бір жаққа қисайған. Басыңызды тік ұстаңыз: екі көз бір деңгейде болсын.",
            "Голова наклонена вбок. Держите голову прямо: глаза должны быть на одном уровне.",
            "Your head is tilted to one side. Hold your head straight, with both eyes level.",
        ),
        ("head_roll", Unmeasured) => (
            "Көздерді анықтау мүмкін болмады. Көзіңіз ашық, шаш пен көзілдірік жалтырауы көзді жаппасын; қызметкер суретті қарайды.",
            "Не удалось найти глаза. Глаза должны быть открыты и не закрыты волосами или бликами очков; сотрудник проверит фото.",
            "The eyes could not be found. Keep your eyes open and uncovered by hair or glasses glare; an officer will check the photo.",
        ),
        ("luminance_mean", Low) => (
            "Бет тым қараңғы. Жарық жерде, бетке біркелкі жарық түсетіндей етіп қайта түсіріңіз.",
            "Лицо слишком тёмное. Переснимите при хорошем освещении, равномерно освещающем лицо.",
            "Your face is too dark. Take the photo again in good, even light on your face.",
        ),
        ("luminance_mean", High) => (
            "Бет тым ашық. Жарқылды өшіріп, тікелей күн сәулесінен аулақ, біркелкі жарықта қайта түсіріңіз.",
            "Лицо слишком светлое. Выключите вспышку и переснимите при ровном свете, без прямого солнца.",
            "Your face is too bright. Turn off the flash and take the photo again in even light, out of direct sun.",
        ),
        ("luminance_variance", Low) => (
            "Беттің контрасы тым төмен (сурет бұлыңғыр немесе тұманды). Жақсы жарықта қайта түсіріңіз.",
            "Слишком низкий контраст лица (фото блёклое). Переснимите при хорошем освещении.",
            "The face has too little contrast (the photo looks flat or hazy). Take it again in good light.",
        ),
        ("luminance_variance", High) => (
            "Беттің контрасы тым жоғары (қатты көлеңке немесе жарқыл). Біркелкі, жұмсақ жарықта қайта түсіріңіз.",
            "Слишком высокий контраст лица (резкие тени или блики). Переснимите при мягком ровном свете.",
            "The face has too much contrast (hard shadows or glare). Take it again in soft, even light.",
        ),
        ("under_exposure", High) => (
            "Беттің көп бөлігі тым қараңғы (көлеңкеде). Жарығырақ жерде қайта түсіріңіз.",
            "Большая часть лица слишком тёмная (в тени). Переснимите при более ярком освещении.",
            "Too much of your face is in darkness. Take the photo again in brighter light.",
        ),
        ("over_exposure", High) => (
            "Беттің бір бөлігі тым ашық, бөлшектері жоғалған (жарқыл немесе шағылысу). Жарқылсыз, біркелкі жарықта қайта түсіріңіз.",
            "Часть лица пересвечена, детали потеряны (вспышка или блики). Переснимите без вспышки при ровном свете.",
            "Part of your face is overexposed and details are lost (flash or glare). Take it again without flash, in even light.",
        ),
        ("dynamic_range", Low) => (
            "Беттегі жарықтық реңктері тым аз. Түпнұсқа суретті өңдемей жүктеңіз немесе жақсы жарықта қайта түсіріңіз.",
            "На лице слишком мало оттенков яркости. Загрузите необработанное фото или переснимите при хорошем освещении.",
            "The face shows too few shades of brightness. Upload an unedited photo, or take it again in good light.",
        ),
        ("illumination_uniformity", Low) => (
            "Бет біркелкі жарықтандырылмаған: бір жағы екінші жағынан қараңғы. Жарыққа бетпе-бет тұрыңыз, бүйірден жарық түспесін.",
            "Лицо освещено неравномерно: одна сторона темнее другой. Встаньте лицом к свету, без бокового освещения.",
            "Your face is unevenly lit: one side is darker than the other. Face the light; avoid light from one side.",
        ),
        ("natural_colour", Low | High) => (
            "Тері түсі табиғи емес (түс сүзгісі немесе жарық түсі). Сүзгілерді өшіріп, күндізгі ақ жарықта қайта түсіріңіз.",
            "Цвет кожи неестественный (цветной фильтр или оттенок освещения). Отключите фильтры и переснимите при белом дневном свете.",
            "Your skin colour looks unnatural (a colour filter or tinted light). Turn off filters and take the photo in white daylight.",
        ),
        ("background_uniformity", High) => (
            "Фон біркелкі емес (заттар, өрнек немесе көлеңке). Ашық түсті, бір түсті қабырғаның алдында түсіңіз.",
            "Фон неоднородный (предметы, узор или тени). Сфотографируйтесь на фоне светлой однотонной стены.",
            "The background is not plain (objects, patterns or shadows). Stand in front of a plain, light-coloured wall.",
        ),
        ("background_uniformity", Unmeasured) | ("background_lightness", Unmeasured) => (
            "Фон тым аз көрінеді. Алысырақ тұрыңыз: бастың айналасында ашық түсті фон көрінсін.",
            "Фон почти не виден. Отойдите дальше, чтобы вокруг головы был виден светлый фон.",
            "Too little background is visible. Step back so the light background shows around your head.",
        ),
        ("background_lightness", Low) => (
            "Фон тым қараңғы. Ашық түсті (ақ немесе ашық сұр) бір түсті қабырғаның алдында түсіңіз.",
            "Фон слишком тёмный. Сфотографируйтесь на фоне светлой (белой или светло-серой) однотонной стены.",
            "The background is too dark. Stand in front of a plain white or light grey wall.",
        ),
        ("background_lightness", High) => (
            "Фон тым ашық (жарық шағылысқан). Фонды біркелкі жарықтандырыңыз, жарқылды өшіріңіз.",
            "Фон пересвечен. Осветите фон равномерно и выключите вспышку.",
            "The background is overexposed. Light it evenly and turn off the flash.",
        ),
        ("sharpness", Low) => (
            "Сурет анық емес (бұлыңғыр). Камераны қозғалтпай ұстап, фокусты бетке қойып, қайта түсіріңіз.",
            "Фото нерезкое (размыто). Держите камеру неподвижно, сфокусируйтесь на лице и переснимите.",
            "The photo is not sharp (blurred). Hold the camera still, focus on your face and take it again.",
        ),
        ("sharpness", High) => (
            "Сурет шамадан тыс өткірлендірілген. Өңдеу әсерлерін өшіріп, түпнұсқа суретті жүктеңіз.",
            "Фото чрезмерно повышена резкость. Отключите обработку и загрузите исходное фото.",
            "The photo is over-sharpened. Turn off processing and upload the original.",
        ),
        (_, Within) => FINE,
        _ => return None,
    })
}

fn signature(name: &str, side: Side) -> Option<Texts> {
    use Side::{High, Low, Within};
    Some(match (name, side) {
        ("ink_present", Low) => (
            "Қолтаңба табылмады: сурет бос. Ақ қағазға қара немесе көк қаламмен қол қойып, суретке түсіріңіз немесе сканерлеңіз.",
            "Подпись не найдена: изображение пустое. Распишитесь чёрной или синей ручкой на белой бумаге и сфотографируйте или отсканируйте.",
            "No signature was found: the image is blank. Sign in black or blue ink on white paper, then photograph or scan it.",
        ),
        ("ink_coverage", Low) => (
            "Қолтаңба сызықтары тым жіңішке немесе үзік. Анық із қалдыратын қаламмен қол қойыңыз.",
            "Линии подписи слишком тонкие или прерывистые. Распишитесь ручкой, оставляющей чёткую линию.",
            "The signature lines are too thin or broken. Sign with a pen that leaves a solid line.",
        ),
        ("ink_coverage", High) => (
            "Сия тым көп: қолтаңба дақ сияқты немесе суретте басқа белгілер бар. Таза қағазға бір рет қол қойыңыз.",
            "Слишком много чернил: подпись похожа на кляксу или на изображении есть другие пометки. Распишитесь один раз на чистой бумаге.",
            "Too much ink: the signature looks like a blot, or other marks are in the picture. Sign once on clean paper.",
        ),
        ("contrast", Low) => (
            "Қолтаңба тым бозғылт. Қара немесе көк қаламды қолданып, жақсы жарықта суретке түсіріңіз.",
            "Подпись слишком бледная. Используйте чёрную или синюю ручку и фотографируйте при хорошем освещении.",
            "The signature is too faint. Use a black or blue pen and photograph it in good light.",
        ),
        ("background_noise", High) => (
            "Қағаз фоны таза емес (көлеңке, өрнек немесе дақтар). Ақ қағазға қол қойып, сканерлеңіз немесе біркелкі жарықта түсіріңіз.",
            "Фон бумаги неоднородный (тени, узор или пятна). Распишитесь на белой бумаге и отсканируйте или сфотографируйте при ровном свете.",
            "The paper background is not clean (shadows, patterns or stains). Sign on white paper and scan it, or photograph it in even light.",
        ),
        ("background_lightness", Low) => (
            "Фон тым қараңғы. Ақ қағазға қол қойып, жарық жерде суретке түсіріңіз.",
            "Фон слишком тёмный. Распишитесь на белой бумаге и сфотографируйте при хорошем освещении.",
            "The background is too dark. Sign on white paper and photograph it in good light.",
        ),
        ("aspect_ratio", Low) => (
            "Қолтаңба тым биік әрі тар. Әдеттегідей, көлденеңінен қол қойыңыз.",
            "Подпись слишком высокая и узкая. Распишитесь как обычно, по горизонтали.",
            "The signature is too tall and narrow. Sign as you normally do, left to right.",
        ),
        ("aspect_ratio", High) => (
            "Қолтаңба тым ұзын әрі жалпақ (жіңішке жолаққа сығылған). Әдеттегідей қол қойыңыз.",
            "Подпись слишком длинная и плоская (сжата в узкую полосу). Распишитесь как обычно.",
            "The signature is too long and flat (squeezed into a thin strip). Sign as you normally do.",
        ),
        ("margin", Low) => (
            "Қолтаңба суреттің жиегіне тиіп тұр, кесілуі мүмкін. Қиғанда қолтаңбаның айналасында бос орын қалдырыңыз.",
            "Подпись касается края изображения и может быть обрезана. При обрезке оставьте поля вокруг подписи.",
            "The signature touches the edge of the image and may be cut off. Leave a margin around it when cropping.",
        ),
        ("strokes", Low) => (
            "Қолтаңбада сызық жоқ. Ақ қағазға қол қойыңыз.",
            "В подписи нет линий. Распишитесь на белой бумаге.",
            "The signature has no strokes. Sign on white paper.",
        ),
        ("strokes", High) => (
            "Бөлек белгілер тым көп (нүктелер, дақтар немесе мәтін). Тек қолтаңбаны, таза қағазда қалдырып қиыңыз.",
            "Слишком много отдельных меток (точки, пятна или текст). Обрежьте изображение до одной подписи на чистой бумаге.",
            "There are too many separate marks (dots, specks or text). Crop to the signature alone, on clean paper.",
        ),
        (_, Within) => FINE,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    #[test]
    fn every_measure_has_advice_in_three_languages() {
        let profile = Profile::default_profile();
        for (key, band) in profile.bands() {
            let (subject, name) = match key.split_once('.') {
                Some(("photo", name)) => (Subject::Photo, name),
                Some(("signature", name)) => (Subject::Signature, name),
                _ => panic!("unexpected key {key}"),
            };
            let lookup = |side| match subject {
                Subject::Photo => photo(name, side),
                Subject::Signature => signature(name, side),
            };
            // Every side the band can produce needs its own advice.
            if band.fail_below.is_some() || band.warn_below.is_some() {
                assert!(
                    lookup(Side::Low).is_some(),
                    "{key}: no advice for a low value"
                );
            }
            if band.fail_above.is_some() || band.warn_above.is_some() {
                assert!(
                    lookup(Side::High).is_some(),
                    "{key}: no advice for a high value"
                );
            }
            let text = advice(subject, name, Side::Low);
            assert!(!text.kk.is_empty() && !text.ru.is_empty() && !text.en.is_empty());
        }
    }
}
